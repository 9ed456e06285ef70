"""Runs the schemathesis CLI with one interpreter bug worked around.

CPython 3.11 can raise `SystemError: AST constructor recursion depth mismatch` when hypothesis parses a source file
to describe a filter's lambda (CPython issue 106905): a crash of the test tool, not a finding about Tally. The
description is only a repr, so here it falls back to the lambda's plain repr.
"""

import sys

from schemathesis.cli import schemathesis

try:
    from hypothesis.internal import lambda_sources
except ImportError:  # a hypothesis without this module does not parse sources this way
    lambda_sources = None

if lambda_sources is not None:
    _describe = lambda_sources.lambda_description

    def _lambda_description(f):
        try:
            return _describe(f)
        except SystemError:
            return repr(f)

    lambda_sources.lambda_description = _lambda_description

if __name__ == "__main__":
    sys.exit(schemathesis())
