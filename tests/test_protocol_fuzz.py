"""Fuzz ``npopt serve`` over a real pipe: hundreds of random, truncated, binary and huge lines.

Every line must get exactly one well-formed reply, the server must stay up and answer a
valid ask afterwards, and the trials recorded before the fuzz must be unchanged.
Run with ``pytest -s`` to see the figures.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter

import pytest
from serve_client import SPACE_YAML, Server, objective, write_space

from npopt import protocol

N_LINES = 600
SEED = 20241124


def _random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**64, -(2**70), rng.randrange(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e-320, 3.0, rng.uniform(-1e6, 1e6)])
    if kind == 4:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(12)))
    if kind == 5:
        return rng.choice(["ask", "tell", "best", "trials", "failed", "complete", "NaN", "", "op"])
    if kind == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["op", "n", "number", "value", "state", "reason", "id", "x"]): _random_json(rng, depth + 1)
            for _ in range(rng.randrange(5))}


def _fuzz_lines(rng: random.Random, numbers: list[int]) -> list[bytes]:
    """``N_LINES`` hostile lines (none contains a newline, so each is one request)."""
    templates = [
        {"op": "ask"},
        {"op": "ask", "n": 3, "id": 1},
        {"op": "tell", "number": rng.choice(numbers), "value": 0.5, "id": "t"},
        {"op": "tell", "number": rng.choice(numbers), "state": "failed", "reason": "boom"},
        {"op": "best", "id": None},
        {"op": "trials"},
    ]
    valid = [json.dumps(t).encode() for t in templates]
    big = protocol.MAX_LINE_BYTES

    def random_bytes():
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))

    def truncated():  # a strict prefix of an object is never a complete JSON object
        v = rng.choice(valid)
        return v[: rng.randrange(len(v))]

    def flipped():
        v = bytearray(rng.choice(valid))
        for _ in range(rng.randrange(1, 4)):
            v[rng.randrange(len(v))] = rng.randrange(256)
        return bytes(v)

    def wrong_types():
        request = {"op": rng.choice(["ask", "tell", "best", "trials", "tel", _random_json(rng)])}
        for field in rng.sample(["n", "number", "value", "state", "reason", "id"], rng.randrange(4)):
            request[field] = _random_json(rng)
        return json.dumps(request).encode()

    def non_finite():
        return b'{"op": "tell", "number": %d, "value": %s}' % (
            rng.choice(numbers + [-5, 10**6]), rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e400", b'"1.0"'])
        )

    def random_json():
        return json.dumps(_random_json(rng)).encode()

    def bad_utf8():
        v = rng.choice(valid)
        cut = rng.randrange(len(v))
        return v[:cut] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xf8\x88\x80\x80\x80"]) + v[cut:]

    def lone_surrogate():
        tail = bytes([rng.randrange(97, 123)])
        return b'{"op": "tell", "number": 0, "state": "failed", "reason": "\\udc80%s"}' % tail

    def deep():
        return rng.choice([b"[", b'{"a":']) * rng.randrange(1000, 100_000)

    def huge():
        size = big + rng.randrange(1, big)
        noise = random_bytes()
        noise = (noise * (size // len(noise) + 1))[:size]
        return rng.choice([b"z" * size, b'{"op": "trials", "id": "' + b"z" * size + b'"}', noise])

    kinds = [random_bytes, truncated, flipped, wrong_types, non_finite, random_json, bad_utf8, lone_surrogate, deep]
    lines = [rng.choice(kinds)() for _ in range(N_LINES - 8)]
    lines += [huge() for _ in range(8)]
    rng.shuffle(lines)
    return [line.replace(b"\n", b" ") for line in lines]


def _is_ask_reply(reply: dict) -> bool:
    """An ask's trials are {number, params}; the trials op's carry state, value, ... too."""
    return "trials" in reply and all(set(t) == {"number", "params"} for t in reply["trials"])


@pytest.mark.timeout(120)
def test_fuzzed_lines_are_all_answered_and_change_nothing(tmp_path):
    rng = random.Random(SEED)
    space = write_space(tmp_path, SPACE_YAML + "  kernel: [rbf, null, true, 2]\n")  # categoricals too
    server = Server(tmp_path / "fuzz.db", space, surrogate="random", seed=1)
    trials = server.ok({"op": "ask", "n": 6})["trials"]
    for t in trials[:5]:
        server.ok({"op": "tell", "number": t["number"], "value": objective(t["params"])})
    server.ok({"op": "tell", "number": trials[5]["number"], "state": "failed", "reason": "crashed"})
    before = {t["number"]: t for t in server.ok({"op": "trials"})["trials"]}

    lines = _fuzz_lines(rng, [t["number"] for t in trials])
    writer = threading.Thread(target=lambda: [server.write(line) for line in lines])
    writer.start()  # write and read at once, so that neither pipe fills up
    replies = [server.read() for _ in lines]
    writer.join()

    codes = Counter("ok" if r["ok"] else r["error"]["code"] for r in replies)
    for reply in replies:
        assert set(reply) <= {"id", "ok", "trials", "trial", "error"}
        if not reply["ok"]:
            assert reply["error"]["code"] in protocol.ERROR_CODES and reply["error"]["message"]
    assert "internal" not in codes and "bad_study" not in codes
    assert codes["line_too_long"] == 8  # the huge lines, and only those

    # still serving: a valid ask is answered and its trial can be told
    new = server.ok({"op": "ask", "id": "after"})
    assert new["id"] == "after"
    server.ok({"op": "tell", "number": new["trials"][0]["number"], "value": 1.0})

    after = {t["number"]: t for t in server.ok({"op": "trials"})["trials"]}
    assert {n: after[n] for n in before} == before  # what was recorded is untouched
    asked = sum(len(r["trials"]) for r in replies if r["ok"] and _is_ask_reply(r))
    assert len(after) == len(before) + asked + 1  # new trials came only from acknowledged asks
    assert server.close() == 0

    print(
        f"\nfuzz: {len(lines)} lines sent ({sum(map(len, lines)) / 2**20:.1f} MiB), {len(replies)} replies; "
        f"by code: {dict(sorted(codes.items()))}; {len(before)} trials before, all intact; "
        f"{len(after) - len(before)} new from acknowledged asks"
    )
