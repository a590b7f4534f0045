"""All of Alliance's I/O: notifications and reports, as Temporal activities."""
