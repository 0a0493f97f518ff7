"""Locust users for bench/annotation_latency.py: each is one annotator asking and submitting."""

import itertools
import json
import os
import random
import uuid

from locust import HttpUser, between, task

with open(os.environ["BENCH_PLAN"]) as f:
    PLAN = json.load(f)
WAIT = float(os.environ.get("BENCH_WAIT", "1.0"))
SLOTS = itertools.count()


class Annotator(HttpUser):
    wait_time = between(WAIT * 0.5, WAIT * 1.5)

    def on_start(self):
        me = PLAN["sessions"][next(SLOTS) % len(PLAN["sessions"])]
        self.client.cookies.set("sessionid", me["session"])
        self.client.cookies.set("csrftoken", me["csrf"])
        self.client.headers["X-CSRFToken"] = me["csrf"]
        self.base = f"/annotate/studies/{PLAN['study']}"

    @task(1)
    def baseline(self):
        """The cheapest logged-in Django page on the same server: what the machine allows."""
        self.client.get("/accounts/login/", name="baseline")

    @task(4)
    def annotate_one_unit(self):
        units = self.client.post(f"{self.base}/next/", json={"prefetch": 1}, name="next")
        body = units.json() if units.ok else {}
        if not body.get("units"):
            return
        unit = body["units"][0]
        ids = [img["id"] for img in unit["images"]]
        answers = {str(i): random.choice(["yes", "no"]) for i in ids}
        self.client.post(
            f"{self.base}/submit/",
            json={
                "client_id": str(uuid.uuid4()),
                "neuron": unit["neuron"],
                "answers": answers,
                "order_shown": ids,
                "ms_spent": random.randint(2000, 9000),
            },
            name="submit",
        )
