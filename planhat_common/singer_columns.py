"""Singer metadata columns shared by the tap and the target.

``_sdc_*`` columns are the Singer convention for metadata a loader adds or reads (singer-sdk's
sinks and SQL targets use the same names); Planhat never has fields of that prefix.
"""

SDC_PREFIX = "_sdc_"

#: When the tap noticed a record had gone from Planhat (``detect_deletes``); with ``hard_delete``
#: the target turns a record carrying it into a delete.
DELETED_AT = "_sdc_deleted_at"
