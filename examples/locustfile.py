"""Load for the quickstart, with Locust (https://locust.io).

Start the quickstart, then Locust against it:

    cargo run --example quickstart
    python3 -m pip install locust
    locust -f examples/locustfile.py --headless -u 10 -r 10 -t 30s --host http://127.0.0.1:3000

(without --headless, Locust's web page at http://localhost:8089 shows the same table live).

Each request is named after its route template (`name=`), so Locust's table has one row per
`http_route` label of the server's metrics: `/users/{id}` is one row however many ids are
requested, exactly as `http_server_request_duration_seconds{http_route="/users/{id}"}` is one
series. Compare the two side by side:

    curl -s localhost:3000/metrics | grep 'http_server_request_duration_seconds_count'

Tasks are weighted roughly like a small site: user pages most, then the slow report and the
home page, writes, and a few failing and streaming requests. `/error` answers 500 on purpose,
so Locust lists it under failures (and exits 1 at the end unless given --exit-code-on-error 0);
the server records the same requests with `error_type="500"`. `/panic` is left out: every
request to it prints a panic message on the server's standard error.

User ids come from a generator seeded with 7, so two runs request the same ids in the same
order per user.
"""

import itertools
import random

from locust import HttpUser, between, task

SEED = 7
_user_numbers = itertools.count()


class QuickstartUser(HttpUser):
    """One visitor of the quickstart: a short think time between requests."""

    wait_time = between(0.05, 0.25)

    def on_start(self):
        # One seeded generator per user: reproducible, and users do not share state.
        self.rng = random.Random(SEED * 1_000_003 + next(_user_numbers))

    @task(6)
    def user(self):
        self.client.get(f"/users/{self.rng.randint(1, 10_000)}", name="/users/{id}")

    @task(3)
    def slow(self):
        self.client.get("/slow", name="/slow")

    @task(2)
    def home(self):
        self.client.get("/", name="/")

    @task(2)
    def create_user(self):
        self.client.post("/users", json={"name": f"user {self.rng.randint(1, 10_000)}"},
                         name="/users")

    @task(1)
    def error(self):
        self.client.get("/error", name="/error")

    @task(1)
    def stream(self):
        self.client.get("/stream", name="/stream")
