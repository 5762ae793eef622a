"""/metrics over HTTP: the bearer token opens it, however its client spells the scheme."""

import requests

from testkit import processes

TOKEN = "s3cret-token"
# A proxy in between: only the token may open /metrics to this client.
REMOTE = {"X-Forwarded-For": "203.0.113.9"}


CASES = {
    f"Bearer {TOKEN}": 200,
    f"bearer {TOKEN}": 200,
    f"BEARER {TOKEN}": 200,
    f"bEaReR {TOKEN}": 200,
    f"Bearer {TOKEN}x": 403,
    f"Basic {TOKEN}": 403,
    TOKEN: 403,
    "bearer": 403,
}


def test_the_bearer_scheme_is_accepted_in_any_case_and_only_with_the_token(
    transactional_db, redis_client, media_root, tmp_path
):
    web = processes.start_daphne(tmp_path / "web.log", MEDIA_ROOT=media_root, METRICS_TOKEN=TOKEN)
    try:
        answers = {
            authorization: requests.get(
                f"{web.url}/metrics", headers={**REMOTE, "Authorization": authorization}, timeout=30
            )
            for authorization in CASES
        }
    finally:
        web.stop()

    assert {header: response.status_code for header, response in answers.items()} == CASES
    for response in answers.values():
        assert ("microblog_tasks" in response.text) is (response.status_code == 200)
