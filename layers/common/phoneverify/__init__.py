"""Phone verification flows (login 2FA, sign-up, payment step-up) shared by every function."""
