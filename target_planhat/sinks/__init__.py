"""How a stream's batches are written: the SDK sinks, their writer thread and the write order.

base.py takes each record through mapping to a batch; bulk.py, push.py and single_record.py
differ only in how a batch is sent; hard_deletes.py deletes; writer.py runs one write at a
time; registry.py knows every sink, writes parents first and ends the run.
"""
