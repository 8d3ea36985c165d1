"""Real protocol servers on the loopback interface (push service, SMTP, SMS API) for tests."""
