"""Answering by replying to the e-mail: the inbound SMTP service, the reply addresses, reading
a reply."""
