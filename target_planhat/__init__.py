"""target-planhat: a Singer target writing into Planhat."""
