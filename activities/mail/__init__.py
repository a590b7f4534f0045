"""E-mail: what a notification says to one person (compose.py) and its delivery by SMTP (smtp.py)."""
