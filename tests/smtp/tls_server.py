"""The tests' SMTP server with STARTTLS and AUTH required (aiosmtpd): one user, messages kept in a maildir.

Usage: python3 tls_server.py PORT CERT KEY MAILDIR USER PASSWORD
"""

import asyncio
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult

port, cert, key, maildir, user, password = sys.argv[1:7]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == user.encode() and auth_data.password == password.encode()
    return AuthResult(success=ok, handled=False)


controller = Controller(
    Mailbox(maildir),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    authenticator=authenticator,
    auth_required=True,
)
controller.start()
asyncio.new_event_loop().run_forever()
