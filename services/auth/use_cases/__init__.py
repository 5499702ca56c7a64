"""The auth use cases, one module per capability. Each use case is a function taking ``Deps`` (built by
``app.py``), the caller's identity when it needs one, and plain arguments; it runs in one unit of work
(with its events in that transaction's outbox) and answers with the protobuf message of its RPC.
A staff action that changes people or permissions also records its audit entry there (kit.audit).

- ``signin.py``: signing in, changing one's password and typing it again before a sensitive change
  (reauthenticate), all throttled (domain/throttle.py)
- ``tokens.py``: connection tokens: first connection, forgotten password, a token sent again
- ``sessions.py``: sessions behind the browser's cookie, and the identity tokens they hand out
- ``people.py``: students, parents and who is whose child, as the school's staff register them
- ``students.py``: the school's students found, changed, leaving, a class moved when the year turns
- ``parents.py``: the school's parents found and changed
- ``imports.py``: the People CSV import (domain/people_csv.py reads it, domain/people_import.py plans it)
- ``accounts.py``: the school's managers disabling and enabling accounts, ending their sessions
- ``second_factor.py``: TOTP second factor: set-up, turning off, the school requiring it, the check
- ``schools.py``: setting up a school and its staff (commands), a manager adding a colleague
- ``audit.py``: the school's audit log: keeping every service's entries (handlers.py), listing them
- ``demo.py``: the local run's demo school (command)
- ``common.py``: what they share: ``Deps``, the hashing profile, field checks
"""
