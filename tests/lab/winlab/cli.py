# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line: python -m winlab fleet ..."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from winlab import fleet, scenario, server

EXIT_USAGE = 2
EXIT_LISTEN = 3


def build_parser():
    parser = argparse.ArgumentParser(prog='python -m winlab', description='A lab of simulated Windows WinRM hosts.')
    sub = parser.add_subparsers(dest='command', required=True)
    run = sub.add_parser('fleet', help='start hosts from scenario files (or a generated fleet) and write an inventory')
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument('--spec', action='extend', nargs='+', metavar='FILE', help='scenario/fleet YAML file(s); repeatable')
    source.add_argument('--generate', type=int, metavar='N', help='N hosts cycling through the shipped scenarios')
    run.add_argument('--scenario-dir', default=fleet.SCENARIO_DIR, help='scenarios used by --generate')
    run.add_argument('--state-dir', required=True, help='host state, request logs and TLS files')
    run.add_argument('--inventory', required=True, metavar='OUT.yml', help='Ansible inventory to write')
    run.add_argument('--ready-file', help='written (JSON) once every host listens, removed on stop')
    run.add_argument('--http-port', type=int, default=5985)
    run.add_argument('--https-port', type=int, default=5986)
    run.add_argument('--subnet', default=fleet.DEFAULT_SUBNET, help='addresses for hosts without one')
    defaults = server.Limits()
    run.add_argument('--max-body-bytes', type=int, default=defaults.max_body)
    run.add_argument('--read-timeout', type=float, default=defaults.read_timeout,
                     help='seconds a started request (or TLS handshake) may take to arrive')
    run.add_argument('--idle-timeout', type=float, default=defaults.idle_timeout,
                     help='seconds a keep-alive connection may wait for its next request')
    run.add_argument('--verbose', action='store_true')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format='%(asctime)s %(name)s %(levelname)s %(message)s')
    for name, value in (('--http-port', args.http_port), ('--https-port', args.https_port)):
        if not 0 < value < 65536:
            print('winlab: error: %s must be 1-65535, got %d' % (name, value), file=sys.stderr)
            return EXIT_USAGE
    if args.http_port == args.https_port:
        print('winlab: error: --http-port and --https-port must differ', file=sys.stderr)
        return EXIT_USAGE
    if args.generate is not None and args.generate < 1:
        print('winlab: error: --generate must be a positive number of hosts', file=sys.stderr)
        return EXIT_USAGE
    limits = server.Limits(max_body=args.max_body_bytes, read_timeout=args.read_timeout, idle_timeout=args.idle_timeout)
    try:
        specs = fleet.load_specs(args.spec, args.generate, args.scenario_dir)
        lab = fleet.Fleet(specs, args.state_dir, args.http_port, args.https_port, args.subnet, limits)
    except (scenario.ScenarioError, fleet.FleetError, ValueError) as exc:
        print('winlab: error: %s' % exc, file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(lab.run(args.inventory, args.ready_file))
    except fleet.FleetError as exc:
        print('winlab: error: %s' % exc, file=sys.stderr)
        return EXIT_LISTEN
    return 0
