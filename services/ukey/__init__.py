"""UKey (安全认证 UKey): the centre's certificate authority, the card applet, issuance and
revocation, and the login check of a certificate and its signature over a challenge.

Pure parts only: nothing here owns a socket. The card emulator and the UKey agent, which
do, live under web/ukey/."""
