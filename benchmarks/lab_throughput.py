#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab throughput: a generated fleet, concurrent pywinrm clients doing NTLM-sealed Enumerates.

    PYTHONPATH=tests/lab .venv/bin/python benchmarks/lab_throughput.py [--hosts 500] [--clients 50] [--seconds 20]

Prints requests per second, client latency, the lab's CPU use and memory (RSS).  Not a test: the
clients run on the same machine and compete with the lab for the CPU, so the figure is a floor for
the lab, not its ceiling.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time

LAB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests', 'lab')
if LAB_DIR not in sys.path:
    sys.path.insert(0, LAB_DIR)

from winlab import testing  # noqa: E402  pylint: disable=wrong-import-position

QUERY = "SELECT Name, State, ProcessId FROM Win32_Service WHERE Name = 'SMTPSVC' OR Name LIKE 'MSExchange%'"
ENDPOINT_URI = testing.CIMV2 + '*'


def _proc_status(pid):
    """VmRSS and VmHWM (peak) in MiB of a process."""
    out = {}
    with open('/proc/%d/status' % pid, encoding='ascii') as handle:
        for line in handle:
            key, _sep, value = line.partition(':')
            if key in ('VmRSS', 'VmHWM'):
                out[key] = int(value.split()[0]) / 1024.0
    return out


def _cpu_seconds(pid):
    with open('/proc/%d/stat' % pid, encoding='ascii') as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _client(host, deadline, start, results):
    import winrm.protocol  # pylint: disable=import-outside-toplevel
    endpoint = 'http://%s:%d/wsman' % (host['ansible_host'], host['ansible_port'])
    proto = winrm.protocol.Protocol(endpoint, transport='ntlm', username=host['ansible_user'],
                                    password=host['ansible_password'])
    message = testing.enumerate_envelope(endpoint, ENDPOINT_URI, wql=QUERY)
    done = errors = 0
    latencies = []
    start.wait()
    while time.monotonic() < deadline:
        began = time.monotonic()
        try:
            reply = proto.send_message(message)
            if b'EnumerateResponse' not in reply:
                raise ValueError('unexpected reply')
            done += 1
            latencies.append(time.monotonic() - began)
        except Exception:  # pylint: disable=broad-except  # counted and reported, the run goes on
            errors += 1
            proto = winrm.protocol.Protocol(endpoint, transport='ntlm', username=host['ansible_user'],
                                            password=host['ansible_password'])
    if proto.transport.encryption is None:
        errors += 1        # the exchange was not sealed: not what this benchmark measures
    results.append((done, errors, latencies))


def _worker(hosts, seconds, queue, go):
    """One client process: one thread per host; reports (requests, errors, latencies)."""
    results = []
    start = threading.Event()
    threads = []
    go.wait()
    deadline = time.monotonic() + seconds
    for host in hosts:
        thread = threading.Thread(target=_client, args=(host, deadline, start, results), daemon=True)
        thread.start()
        threads.append(thread)
    start.set()
    for thread in threads:
        thread.join(seconds + 60)
    queue.put([sum(r[0] for r in results), sum(r[1] for r in results), [x for r in results for x in r[2]]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--hosts', type=int, default=500)
    parser.add_argument('--clients', type=int, default=50, help='concurrent pywinrm clients (one per host)')
    parser.add_argument('--client-processes', type=int, default=2, help='the clients are threads in this many processes')
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--warmup', type=float, default=3.0, help='seconds run before measuring (handshakes, imports)')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix='winlab-bench-') as state:
        started = time.monotonic()
        with testing.running_fleet(generate=args.hosts, state_dir=state, start_timeout=600) as lab:
            startup = time.monotonic() - started
            pid = lab.process.pid
            idle = _proc_status(pid)
            http_hosts = [h for h in lab.hosts.values() if h['ansible_winrm_scheme'] == 'http']
            step = max(1, len(http_hosts) // args.clients)
            chosen = [http_hosts[(i * step) % len(http_hosts)] for i in range(args.clients)]
            per_proc = [chosen[i::args.client_processes] for i in range(args.client_processes)]
            ctx = multiprocessing.get_context('fork')
            queue = ctx.Queue()
            go = ctx.Event()
            total = args.warmup + args.seconds
            procs = [ctx.Process(target=_worker, args=(hosts, total, queue, go)) for hosts in per_proc if hosts]
            for proc in procs:
                proc.start()
            go.set()
            time.sleep(args.warmup)
            cpu_before, t_before = _cpu_seconds(pid), time.monotonic()
            counts_before = sum(len(lab.requests(n)) for n in _names(lab, chosen))
            time.sleep(args.seconds)
            cpu_after, t_after = _cpu_seconds(pid), time.monotonic()
            counts_after = sum(len(lab.requests(n)) for n in _names(lab, chosen))
            reports = [queue.get(timeout=args.seconds + 120) for _proc in procs]
            for proc in procs:
                proc.join(30)
            busy = _proc_status(pid)
            alive = lab.process.poll() is None

    done = sum(r[0] for r in reports)
    errors = sum(r[1] for r in reports)
    latencies = sorted(x for r in reports for x in r[2])
    window = t_after - t_before
    measured = counts_after - counts_before
    print('lab throughput: %d hosts (generated), %d concurrent pywinrm clients (NTLM, sealed Enumerate with WQL), '
          '%d client processes' % (args.hosts, args.clients, len(procs)))
    print('  machine: %d CPU cores; the clients run here too and compete with the lab for them '
          '(1-minute load average at the end: %.1f)' % (os.cpu_count(), os.getloadavg()[0]))
    print('  fleet start (all hosts listening): %.1f s' % startup)
    print('  requests/s served by the lab (request log, %.0f s window after %.0f s warm-up): %.0f'
          % (window, args.warmup, measured / window))
    print('  client-side: %d Enumerates answered, %d errors, %.0f/s over the whole run' % (done, errors, done / total))
    if latencies:
        print('  latency per Enumerate: p50 %.1f ms, p95 %.1f ms, max %.1f ms' % (
            1000 * latencies[len(latencies) // 2], 1000 * latencies[int(len(latencies) * 0.95)], 1000 * latencies[-1]))
    print('  lab CPU: %.0f%% of one core during the window, %.2f ms per request'
          % (100.0 * (cpu_after - cpu_before) / window, 1000.0 * (cpu_after - cpu_before) / max(measured, 1)))
    print('  lab memory: RSS %.0f MiB idle after start, %.0f MiB at the end, peak %.0f MiB'
          % (idle['VmRSS'], busy['VmRSS'], busy['VmHWM']))
    print('  lab still running at the end: %s' % ('yes' if alive else 'NO'))
    return 0 if alive and errors == 0 else 1


def _names(lab, hosts):
    by_address = {h['ansible_host']: n for n, h in lab.hosts.items()}
    return [by_address[h['ansible_host']] for h in hosts]


if __name__ == '__main__':
    sys.exit(main())
