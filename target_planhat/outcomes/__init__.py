"""What became of each record, and where the run keeps it.

Planhat's answers are read (bulk_answers.py) and attributed to records (attribution.py);
every record's outcome then takes one path (stream_outcomes.py) into the counts and progress
lines, the dead letter and results files, and the sync ledger; the push ledger remembers
pushes.
"""
