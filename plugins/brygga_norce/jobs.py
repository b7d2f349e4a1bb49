"""Connect imports as asynchronous jobs ([NO2], [NO7], [NO9]): submit, remember, poll to the end.

A 200 from an import means "accepted", not "applied": the adapter polls ``Job/Get?id=`` until
``IsFinished`` and reads ``Job/GetLog`` when the job did not succeed. The job id is kept in
the account state (``job/<kind>/<key>``, with a fingerprint of the rows) *before* polling, so
a restart or a poll that gave up resumes polling that job instead of sending the rows again.
An import sets absolute values, so sending the same rows twice changes nothing; only an
answer that never came (a timeout on the submit) can lead to a second job for the same rows.
``FullFile`` is always false: a full file deactivates everything it omits.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import msgspec

from brygga.accountstate import AdapterStateStore
from brygga.clock import Clock
from brygga.errors import PermanentError, TransientError
from brygga_norce.calls import CONNECT, NorceCalls
from brygga_norce.wire import JobDtoWire, JobLogWire, JobResponseWire, decode

__all__ = ["JOB_STATUS", "ImportJobs", "JobOutcome"]

log = logging.getLogger(__name__)

#: JobDto.StatusId ([NO9]); 5 and 6 from JobCompletedEvent ([NO13])
JOB_STATUS = {
    1: "Initialized",
    2: "Succeeded",
    3: "Failed",
    4: "Validation failed",
    5: "Validating",
    6: "Queued",
}


#: money and quantities go out as JSON numbers (never strings, never floats)
_ENCODER = msgspec.json.Encoder(decimal_format="number")


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    status_id: int
    warnings: tuple[str, ...] = ()


class _Pending(msgspec.Struct):
    job_id: int
    fingerprint: str


class ImportJobs:
    """Submits one import and follows its job; ``calls`` is the adapter (its ``_call``)."""

    def __init__(
        self,
        calls: NorceCalls,
        state: AdapterStateStore,
        account: str,
        clock: Clock,
        *,
        account_id: int | None,
        poll_every: float,
        polls: int,
    ) -> None:
        self._calls = calls
        self._state = state
        self._account = account
        self._clock = clock
        self._account_id = account_id
        self._poll_every = poll_every
        self._polls = polls

    async def keys(self, prefix: str) -> list[str]:
        return await self._state.keys(self._account, prefix)

    def header(self, **fields: Any) -> str:
        """The ``X-StormConnect-Header``: one-line JSON, never a full file ([NO7])."""
        header: dict[str, Any] = {"FullFile": False, "SerializationType": 0, **fields}
        if self._account_id is not None:
            header["AccountId"] = self._account_id
        return msgspec.json.encode(header).decode()

    async def run(
        self, kind: str, key: str, path: str, header: str, rows: list[dict[str, Any]], what: str
    ) -> JobOutcome:
        """Import ``rows`` (resuming the pending job for ``key`` if its rows are the same)."""
        body = _ENCODER.encode(rows)
        fingerprint = hashlib.sha256(header.encode() + b"\n" + body).hexdigest()[:32]
        slot = f"job/{kind}/{key}"
        raw = await self._state.get(self._account, slot)
        if raw is not None:
            pending = msgspec.json.decode(raw, type=_Pending)
            log.info("norce: %s: resuming job %s", what, pending.job_id)
            if pending.fingerprint == fingerprint:
                return await self._finish(pending.job_id, slot, what)
            try:  # an earlier value's job: see it end, then send this one
                await self._finish(pending.job_id, slot, what)
            except PermanentError as exc:
                log.warning("norce: %s: an earlier import failed: %s", what, exc)
        job_id = await self._submit(path, header, rows, what)
        now = self._clock.now()
        await self._state.put(
            self._account, slot, msgspec.json.encode(_Pending(job_id, fingerprint)), now
        )
        return await self._finish(job_id, slot, what)

    async def _submit(self, path: str, header: str, rows: list[dict[str, Any]], what: str) -> int:
        response = await self._calls._call(
            "POST",
            f"{CONNECT}/{path}",
            what,
            content=_ENCODER.encode(rows),
            headers={"X-StormConnect-Header": header, "Content-Type": "application/json"},
        )
        answer = decode(response.content, JobResponseWire, what)
        summary = answer.validation_summary
        if summary is not None and summary.nr_of_validation_failures:
            messages = "; ".join((summary.messages or [])[:5])[:400]
            raise PermanentError(f"{what}: Norce refused the import row ({messages})")
        try:
            return int(str(answer.job_id))
        except ValueError:
            raise PermanentError(
                f"{what}: Norce accepted the import but named no job ({answer.job_id!r})"
            ) from None

    async def _finish(self, job_id: int, slot: str, what: str) -> JobOutcome:
        """Poll the job to its end; forget it then. Gives up after ``polls`` reads with a
        TransientError, keeping the job id so that the next call polls on."""
        for attempt in range(self._polls):
            if attempt:
                await self._clock.sleep(self._poll_every)
            response = await self._calls._call(
                "GET", f"{CONNECT}/Job/Get", f"{what}: job {job_id}", params={"id": job_id}
            )
            job = decode(response.content, JobDtoWire, f"{what}: job {job_id}")
            if job.is_finished:
                break
        else:
            raise TransientError(
                f"{what}: Norce import job {job_id} is still running; brygga looks again later"
            )
        log_rows = await self._log(job_id, what) if job.status_id != 2 or job.fail else []
        await self._state.delete(self._account, slot)
        errors = [r.message or "" for r in log_rows if r.severity_id >= 3]
        if job.status_id != 2 or job.fail:
            status = JOB_STATUS.get(job.status_id, str(job.status_id))
            detail = "; ".join(errors[:5])[:400] or "no log rows"
            raise PermanentError(f"{what}: Norce import job {job_id} ended {status} ({detail})")
        warnings = tuple(r.message or "" for r in log_rows if r.severity_id == 2)
        return JobOutcome(job_id, job.status_id, warnings)

    async def _log(self, job_id: int, what: str) -> list[JobLogWire]:
        response = await self._calls._call(
            "GET", f"{CONNECT}/Job/GetLog", f"{what}: job {job_id} log", params={"id": job_id}
        )
        return decode(response.content, list[JobLogWire], f"{what}: job {job_id} log")
