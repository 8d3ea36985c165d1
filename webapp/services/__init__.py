"""Business services: plain values in, domain exceptions out, transactions owned here."""
