"""How a Singer record becomes a Planhat payload.

Which model a stream writes (routing), which field each column names (field names, columns),
how a record is keyed (keys: every key rule), how its payload is built (records, references)
and which records may not be written (validation, write checks). No module here writes to
Planhat; references.py reads keys through the run's look-ups.
"""
