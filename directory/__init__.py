"""The contact directory: people's own details (name, e-mail, phone, webhook), kept outside
Temporal so that Temporal's history holds none of them and an erasure can reach them."""
