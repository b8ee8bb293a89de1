"""Workers: list, one, create, update."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response
from litestar.params import FromPath, JSONBody, QueryParameter

from tempclock.api.http.idempotent import IdempotencyKey, respond_once
from tempclock.api.http.routing import (
    MAX_ID,
    Identity,
    One,
    Query,
    WithMessage,
    both_paths,
    endpoint,
    one_or_page,
)
from tempclock.api.services import workers
from tempclock.api.services.common import Page
from tempclock.api.services.workers import Worker, WorkerCreate, WorkerFilter, WorkerUpdate

WorkerId = Annotated[int, QueryParameter(name="id", ge=1, le=MAX_ID, description="The worker to change.")]


class WorkerController(Controller):
    path = "/"
    tags = ["Workers"]

    @endpoint("GET", both_paths("workers"), operation_id="list_workers", scope="workers:read",
              summary="List workers, or one worker with ?id=")
    def list_workers(self, identity: Identity, params: Query[WorkerFilter]) -> Page[Worker] | One[Worker]:
        account = identity.account_id
        return one_or_page(params, lambda i: workers.get_worker(account, i),
                           lambda p: workers.list_workers(account, p))

    @endpoint("GET", "/workers/{worker_id:int}", operation_id="get_worker", scope="workers:read",
              summary="One worker")
    def get_worker(self, identity: Identity, worker_id: FromPath[int]) -> One[Worker]:
        return One(workers.get_worker(identity.account_id, worker_id))

    @endpoint("POST", both_paths("workers"), operation_id="create_worker", scope="workers:write",
              summary="Create a worker", errors=(404, 409), status_code=201)
    def create_worker(self, request: Request, identity: Identity, data: JSONBody[WorkerCreate],
                      idempotency_key: IdempotencyKey = None) -> Response[WithMessage[Worker]]:
        def create() -> tuple[int, WithMessage[Worker]]:
            worker = workers.create_worker(identity.account_id, data)
            return 201, WithMessage(worker, f"Worker {worker.id} created")

        return respond_once(request, identity, idempotency_key, "create_worker", data, create)

    @endpoint("PATCH", both_paths("workers"), operation_id="update_worker",
              scope="workers:write", summary="Update a worker given by ?id=", errors=(404, 409))
    def update_worker(self, identity: Identity, data: JSONBody[WorkerUpdate],
                      worker_id: WorkerId) -> WithMessage[Worker]:
        return _update(identity, worker_id, data)

    @endpoint("PATCH", "/workers/{worker_id:int}", operation_id="update_worker_by_path",
              scope="workers:write", summary="Update a worker", errors=(404, 409))
    def update_worker_by_path(self, identity: Identity, data: JSONBody[WorkerUpdate],
                              worker_id: FromPath[int]) -> WithMessage[Worker]:
        return _update(identity, worker_id, data)


def _update(identity: Identity, worker_id: FromPath[int], data: JSONBody[WorkerUpdate]) -> WithMessage[Worker]:
    worker = workers.update_worker(identity.account_id, worker_id, data)
    return WithMessage(worker, f"Worker {worker.id} updated")
