"""The city file of `dispatcher load FILE.yaml` (docs/city-file.md), in three stages:

- `read`: the file's bytes into a document of dicts, lists and scalars that remembers
  the line of each mapping and key (pure);
- `check`: the document into typed rows (`rows`) and every error, each with its place
  and line, all at once (pure; the field checks are `fields`);
- `load`: the checked rows written in the caller's transaction (`tables`, one batched
  sync per table); `edits` are the dashboard's resident and worker edits, made as
  one-row city files so that they obey the same rules.

A file with any error writes nothing. What a file says about a community or a resident
it lists:

- the community's or resident's own fields replace those in the database;
- a list that is given replaces what the database holds: `workers:` and `providers:`
  of a community, `contacts:` of a resident (an empty list or `null` removes them all);
  `terminal:` of a resident (`null` detaches the resident's terminal; a terminal given
  to another resident moves to it); `terminal: {id, protocol: dc09, account, key}` is a
  SIA DC-09 terminal (docs/protocol.md), and its protocol, account and key replace the
  terminal's (the short form makes it an MQTT terminal again);
- a key that is left out leaves that part as it is in the database, so a file of new
  residents with only the headers of their communities does not remove any worker;
  the same holds for a resident's `phone:`, `service_default:` and `checkin:` (its
  window and pause, docs/daily-care.md), which the API and the dashboard set too: given, they
  replace (`null` clears); left out, they stay.

Rows the file does not list are left alone: loading never removes a community, a
resident or a terminal (terminal rows carry the device's liveness; "removed" in the
report of terminals means detached). Loading the same file twice changes nothing.

To add a field to a row: its type in `rows`, its key and check in `check` (a new kind
of value gets its check in `fields`), its column in `tables`.
"""
