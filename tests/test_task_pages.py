"""The sandbox's task pages (`/tasks/<taskId>`, `/tasks/<taskId>/runs/<runId>`,
`/tasks/groups/<taskGroupId>`): state chips, runs, artifacts linked through
the queue (relative links that download), the log, the group's tasks, HTML
escaping, and HTML error pages (never a 5xx) for what does not exist."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import subprocess
import sys
import urllib.parse

import pytest
import requests
import slugid
from helpers import make_queue, make_task, new_queue_id, wait_resolved, wait_running, wait_until

from tc_notebook.task_html import STATE_COLOURS
from tc_notebook.tutorial import TUTORIAL_TASK_QUEUE, task_definition

MARKER = "page-marker-42"
HELLO = b"hello from the task page test\n"


class Anchors(html.parser.HTMLParser):
    """Every `<a>` of a page: (href, class, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "a":
            values = dict(attrs)
            self._open = [values.get("href") or "", values.get("class") or "", ""]

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.found.append(tuple(self._open))
            self._open = None


def anchors(page: str, css: str | None = None) -> list[tuple[str, str, str]]:
    """The page's links, those of class `css` only if given."""
    parser = Anchors()
    parser.feed(page)
    return [a for a in parser.found if css is None or a[1] == css]


def fetch(url: str) -> requests.Response:
    """A browser's GET of a page (redirects followed)."""
    return requests.get(url, timeout=15)


def page_of(root_url: str, path: str, status: int = 200) -> str:
    """The HTML at `path`, checked to be an HTML answer with `status`."""
    reply = fetch(root_url + path)
    assert reply.status_code == status, (path, reply.status_code, reply.text[:300])
    assert reply.headers["Content-Type"].startswith("text/html"), reply.headers
    return reply.text


def chip(state: str) -> str:
    """What a state chip of `state` shows, as the page holds it."""
    colour = STATE_COLOURS[state]
    return f'tc-state-{state}" style="display:inline-block;padding:1px 10px;background:{colour}'


def assert_relative(page: str) -> None:
    """No link of the page leaves it by an absolute path or another origin
    (but a task's own http(s) source)."""
    for href, css, _ in anchors(page):
        assert not href.startswith("/"), href
        assert css == "" and href.startswith("https://") or "://" not in href, href


# -- without a worker: pending, unscheduled, built-in ----------------------------------------


def test_pending_task_page(sandbox, queue):
    task_id = slugid.nice()
    queue.createTask(task_id, make_task(new_queue_id()))  # no worker serves this queue
    page = page_of(sandbox.root_url, f"/tasks/{task_id}")
    assert chip("pending") in page and "PENDING" in page
    assert '<meta http-equiv="refresh"' in page  # it follows the task
    assert "sandbox test task" in page and task_id in page
    assert ("../tasks/groups/" + task_id, "group") in [(h, c) for h, c, _ in anchors(page)]
    assert "Artifacts of run 0" in page and "No artifacts." in page
    assert "No log for this run (yet)." in page
    assert_relative(page)


def test_unscheduled_task_lists_its_dependency_with_its_state(sandbox, queue):
    waiting_for = slugid.nice()
    queue.createTask(waiting_for, make_task(new_queue_id()))
    task_id = slugid.nice()
    queue.createTask(task_id, make_task(new_queue_id(), dependencies=[waiting_for]))
    page = page_of(sandbox.root_url, f"/tasks/{task_id}")
    assert chip("unscheduled") in page and "No runs yet." in page
    links = [h for h, _, text in anchors(page) if text == waiting_for]
    assert links == [f"../tasks/{waiting_for}"]
    assert chip("pending") in page  # the dependency's own state
    dependency = fetch(urllib.parse.urljoin(f"{sandbox.root_url}/tasks/{task_id}", links[0]))
    assert dependency.status_code == 200 and chip("pending") in dependency.text


def test_group_page_lists_its_tasks_and_links_to_them(sandbox, queue):
    group_id = slugid.nice()
    done, waiting = slugid.nice(), slugid.nice()
    queue.createTask(done, make_task("built-in/succeed", taskGroupId=group_id))
    queue.createTask(waiting, make_task(new_queue_id(), taskGroupId=group_id,
                                        metadata={**make_task()["metadata"], "name": "waits"}))
    wait_resolved(queue, done)
    url = f"{sandbox.root_url}/tasks/groups/{group_id}"
    page = page_of(sandbox.root_url, f"/tasks/groups/{group_id}")
    assert chip("completed") in page and chip("pending") in page
    assert "1 completed, 1 pending" in page
    assert '<meta http-equiv="refresh"' in page  # one task is not resolved yet
    links = {text: href for href, _, text in anchors(page, "task")}
    assert links == {"sandbox test task": f"../../tasks/{done}", "waits": f"../../tasks/{waiting}"}
    followed = fetch(urllib.parse.urljoin(url, links["waits"]))
    assert followed.status_code == 200 and waiting in followed.text
    assert chip("pending") in followed.text
    listed = fetch(urllib.parse.urljoin(url, [h for h, _, t in anchors(page) if t == "as JSON"][0]))
    assert {t["status"]["taskId"] for t in listed.json()["tasks"]} == {done, waiting}
    assert_relative(page)


def test_task_provided_text_is_escaped(sandbox, queue):
    task_id = slugid.nice()
    metadata = {
        "name": '<script>alert("name")</script>',
        "description": "<img src=x onerror=alert(1)> & more",
        "owner": "tests@example.com",
        "source": 'https://example.com/"><script>alert(2)</script>',
    }
    queue.createTask(task_id, make_task("built-in/succeed", metadata=metadata))
    wait_resolved(queue, task_id)
    reply = fetch(f"{sandbox.root_url}/tasks/{task_id}")
    page = reply.text
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in page
    sources = [href for href, _, _ in anchors(page) if href.startswith("https://example.com/")]
    assert sources == ['https://example.com/"><script>alert(2)</script>']  # one attribute
    parts = reply.headers["Content-Security-Policy"].split(";")
    policy = dict(part.strip().split(" ", 1) for part in parts)
    assert policy["default-src"] == "'none'" and policy["script-src"].startswith("'sha256-")
    assert " " not in policy["script-src"]  # one script may run, the live log's
    assert chip("completed") in page and '<meta http-equiv="refresh"' not in page


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/tasks/{unknown}", 404, "Task not found"),
        ("/tasks/{known}/runs/7", 404, "Run not found"),
        ("/tasks/groups/{unknown}", 404, "Task group not found"),
        ("/tasks/not-a-task-id", 400, "Not a taskId"),
        ("/tasks/{known}%0A", 400, "Not a taskId"),
        ("/tasks/{known}/runs/x", 400, "Not a run"),
        ("/tasks/{known}/runs/99999999999999999999", 400, "Not a run"),
        ("/tasks/groups/%3Cb%3E", 400, "Not a taskGroupId"),
        ("/tasks/", 404, "No such page"),
        ("/tasks/{known}/runs/0/extra", 404, "No such page"),
        ("/tasks/%ZZ", 400, "Not a taskId"),
    ],
)
def test_no_such_page_is_an_html_error_not_a_5xx(sandbox, queue, path, status, says):
    known = slugid.nice()
    queue.createTask(known, make_task(new_queue_id()))
    path = path.format(known=known, unknown=slugid.nice())
    page = page_of(sandbox.root_url, path, status)
    assert f"<h1>{says}</h1>" in page
    assert "<b>" not in page


def test_a_task_page_needs_no_credentials_and_answers_head(sandbox, queue):
    task_id = slugid.nice()
    queue.createTask(task_id, make_task(new_queue_id()))
    head = requests.head(f"{sandbox.root_url}/tasks/{task_id}", timeout=15)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("text/html")
    assert make_queue(sandbox.root_url).status(task_id)["status"]["state"] == "pending"


def test_the_sandbox_serves_its_pages_without_widget_modules():
    """The pages share the widgets' chips and runs table (`task_html`), not ipywidgets."""
    script = "import sys, tc_notebook.sandbox; print([m for m in sys.modules if 'widget' in m])"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout


# -- with the sandbox's worker: runs, artifacts, logs -------------------------------------------


def worker_task(command: str, name: str, **fields) -> dict:
    """A task for `conn`'s worker publishing `public/hello.txt` and `private/secret.txt`."""
    artifacts = {  # expiring with the task
        "public/hello.txt": {"type": "file", "path": "hello.txt"},
        "private/secret.txt": {"type": "file", "path": "hello.txt"},
    }
    task = task_definition(command, name=name, description="a task page test",
                           artifacts=artifacts, task_queue_id=TUTORIAL_TASK_QUEUE)
    task.update(fields)
    return task


def test_completed_task_page_artifacts_download_and_log_shows(conn):
    task_id = slugid.nice()
    script = f"printf '{HELLO.decode()}' > hello.txt; echo {MARKER}"
    conn.queue.createTask(task_id, worker_task(script, "Write hello"))
    wait_resolved(conn.queue, task_id)
    url = f"{conn.root_url}/tasks/{task_id}"
    page = page_of(conn.root_url, f"/tasks/{task_id}")
    assert chip("completed") in page and '<meta http-equiv="refresh"' not in page
    assert '<pre class="log">' in page and MARKER in page.split('<pre class="log">')[1]
    links = {text: href for href, _, text in anchors(page, "artifact")}
    assert links["public/hello.txt"] == f"../api/queue/v1/task/{task_id}/artifacts/public/hello.txt"
    assert "private/secret.txt" not in links and "needs credentials" in page
    assert fetch(urllib.parse.urljoin(url, links["public/hello.txt"])).content == HELLO
    assert MARKER in fetch(urllib.parse.urljoin(url, links["public/logs/live.log"])).text
    (full_log,) = anchors(page, "full-log")
    assert MARKER in fetch(urllib.parse.urljoin(url, full_log[0])).text
    assert_relative(page)


def test_run_page_links_that_runs_artifacts(conn):
    task_id = slugid.nice()
    conn.queue.createTask(task_id, worker_task(f"echo {MARKER} > hello.txt", "Write a marker"))
    wait_resolved(conn.queue, task_id)
    conn.queue.rerunTask(task_id)
    assert len(wait_resolved(conn.queue, task_id)["runs"]) == 2
    task_url = f"{conn.root_url}/tasks/{task_id}"
    runs = {text: href for href, _, text in anchors(fetch(task_url).text) if text in ("0", "1")}
    assert runs == {"0": f"../tasks/{task_id}/runs/0", "1": f"../tasks/{task_id}/runs/1"}
    run_url = urllib.parse.urljoin(task_url, runs["0"])
    page = fetch(run_url).text
    assert "Artifacts of run 0" in page and 'data-run="0" style="background' in page
    links = {text: href for href, _, text in anchors(page, "artifact")}
    assert links["public/hello.txt"] == (
        f"../../../api/queue/v1/task/{task_id}/runs/0/artifacts/public/hello.txt"
    )
    assert fetch(urllib.parse.urljoin(run_url, links["public/hello.txt"])).text == MARKER + "\n"
    group = [href for href, css, _ in anchors(page) if css == "group"]
    assert group and group[0] == f"../../../tasks/groups/{task_id}"
    assert fetch(urllib.parse.urljoin(run_url, group[0])).status_code == 200
    assert_relative(page)


def test_failed_task_page(conn):
    task_id = slugid.nice()
    conn.queue.createTask(task_id, worker_task(f"echo {MARKER}; exit 3", "Fail with 3"))
    wait_resolved(conn.queue, task_id)
    page = page_of(conn.root_url, f"/tasks/{task_id}")
    assert chip("failed") in page and "FAILED" in page
    assert "<td style=\"padding-right:12px\">failed</td>" in page  # the run's reasonResolved
    assert MARKER in page.split('<pre class="log">')[1]


def live_log_shown(url: str) -> str | None:
    """The page at `url` once it links to a live log."""
    page = fetch(url).text
    return page if 'class="live-log"' in page else None


def read_until(url: str, wanted: str) -> bytes:
    """What a streamed GET of `url` brings until `wanted` arrives (or it ends)."""
    seen = b""
    with requests.get(url, stream=True, timeout=15) as stream:
        assert stream.status_code == 200
        for chunk in stream.iter_content(chunk_size=None):
            seen += chunk
            if wanted.encode() in seen:
                break
    return seen


def test_running_task_page_links_its_live_log(conn, gate):
    task_id = slugid.nice()
    script = gate.wait(f"touch hello.txt; echo {MARKER}")
    conn.queue.createTask(task_id, worker_task(script, "Wait for a gate"))
    url = f"{conn.root_url}/tasks/{task_id}"
    try:
        wait_running(conn.queue, task_id)
        page = wait_until(lambda: live_log_shown(url), message="the live log's link")
        assert chip("running") in page and '<noscript><meta http-equiv="refresh"' in page
        ((live, _, _),) = anchors(page, "live-log")
        assert live == f"../api/queue/v1/task/{task_id}/runs/0/artifacts/public/logs/live.log"
        relayed = page.split('<pre class="log" data-live="')[1].split('"')[0]
        assert relayed.startswith("../sandbox/livelog/log/"), relayed  # the script streams it
        script = page.split("<script>")[1].split("</script>")[0]
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        policy = requests.get(url, timeout=15).headers["Content-Security-Policy"]
        assert f"script-src 'sha256-{digest}'" in policy
        for target in (live, relayed):
            assert MARKER.encode() in read_until(urllib.parse.urljoin(url, target), MARKER)
        assert conn.queue.status(task_id)["status"]["state"] == "running"
    finally:
        gate.open()
    wait_resolved(conn.queue, task_id)
    assert chip("completed") in fetch(url).text
