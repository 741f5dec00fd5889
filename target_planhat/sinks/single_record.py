"""The sink for models without bulk upsert (custom fields): one call per record."""

from __future__ import annotations

from typing_extensions import override

from planhat_common.errors import PlanhatError
from target_planhat.mapping.payloads import MappedRecord, dumps
from target_planhat.outcomes.attribution import RecordResult
from target_planhat.sinks.base import PlanhatSink, path_for_log


class SingleRecordSink(PlanhatSink):
    """``POST`` to create, ``PUT /<_id>`` to update, a key resolved through one key scan."""

    @override
    def write(self, records: list[MappedRecord]) -> None:
        path = self.route.model.path or ""
        client = self.services.client
        for record in records:
            record_id = self.services.lookups.find_id(
                self.route.model, record.key, self.counts.count_call
            )
            payload = {k: v for k, v in record.payload.items() if k != "_id"}
            if record_id:
                method, url = "PUT", client.api(path, record_id)
            else:
                method, url = "POST", client.api(path)
            outcome = "created" if method == "POST" else "updated"
            if self.dry_run:
                secrets = self.services.connection.secrets
                self.logger.info("Dry run: would %s %s", method, path_for_log(url, secrets))
                self.counts.add(planned=1)
                self.outcomes.settle([RecordResult(record, outcome)])
                continue
            reply = client.call(method, url, data=dumps(payload))
            self.counts.count_call()
            if reply.ok:
                body = reply.body if isinstance(reply.body, dict) else {}
                new_id = body.get("_id") if isinstance(body.get("_id"), str) else record_id
                self.outcomes.settle([RecordResult(record, outcome, new_id)], confirmed=True)
            elif 400 <= reply.status < 500:  # noqa: PLR2004
                self.outcomes.reject(record, f"{method} failed: {reply.description}")
            else:
                raise PlanhatError(f"Writing {self.model_name} failed: {reply.description}")
