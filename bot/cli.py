"""The `tipline` command: run the service, manage keys, read reports, check flows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.logs import configure as configure_logging
from config.settings import SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tipline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("dev", help="run web + worker on embedded defaults with the simulator page")
    commands.add_parser("serve", help="run the web process")
    worker = commands.add_parser("worker", help="run an RQ worker (with a fallback scheduler)")
    worker.add_argument("--burst", action="store_true", help="process what is queued, then exit")
    commands.add_parser("scheduler", help="run the scheduler: delayed jobs (retries, reminders) onto the queue")

    keys = commands.add_parser("keys", help="analyst keys and service secrets").add_subparsers(
        dest="keys_command", required=True
    )
    generate = keys.add_parser("generate", help="create an analyst key pair; prints the public key")
    generate.add_argument("--out", default="analyst-key.json", help="private key file to write (mode 600)")
    keys.add_parser("secret", help="print a new random 32-byte secret (PSEUDONYM_KEY, SESSION_KEY)")
    keys.add_parser("generate-followup", help="print a follow-up key pair: FOLLOWUP_PRIVATE_KEY for workers, "
                    "FOLLOWUP_PUBLIC_KEY for analysts (docs/follow-up.md)")

    reports = commands.add_parser("reports", help="read filed reports with your private key").add_subparsers(
        dest="reports_command", required=True
    )
    for name in ("list", "show", "export"):
        sub = reports.add_parser(name)
        sub.add_argument("--key", required=True, help="your private key file")
        sub.add_argument("--store", help="store URL (default: STORE_URL; S3_ENDPOINT_URL for S3-compatible servers)")
        if name == "show":
            sub.add_argument("report_id")
            sub.add_argument("--media-dir", help="write the report's decrypted media here")
        if name in ("list", "export"):
            sub.add_argument("--cache-dir", help="the cache sealed to your key (default: ~/.cache/tipline)")
            sub.add_argument("--no-cache", action="store_true", help="keep nothing on disk; decrypt everything")
        if name == "export":
            sub.add_argument("--with-follow-up", action="store_true",
                             help="include the follow-up addresses of reporters who agreed (default: hidden)")
            sub.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
            sub.add_argument("--media-dir", help="write decrypted media here")
            sub.add_argument("--since", help="only reports submitted at or after this ISO date")
    ask = reports.add_parser("ask", help="ask the reporter a question on their channel (if they agreed)")
    ask.add_argument("report_id")
    ask.add_argument("question")
    ask.add_argument("--key", required=True, help="your private key file")
    ask.add_argument("--followup-key", help="the follow-up public key (default: FOLLOWUP_PUBLIC_KEY)")
    ask.add_argument("--store", help="store URL (default: STORE_URL)")
    thread = reports.add_parser("thread", help="a report's questions and the reporter's answers")
    thread.add_argument("report_id")
    thread.add_argument("--key", required=True, help="your private key file")
    thread.add_argument("--store", help="store URL (default: STORE_URL)")
    reseal = reports.add_parser("reseal", help="re-seal stored reports and media to the current analyst keys "
                                "(on an analyst's machine, after a key was added or removed)")
    reseal.add_argument("--key", required=True, help="your private key file (one that opens the older reports)")
    reseal.add_argument("--store", help="store URL (default: STORE_URL; S3_ENDPOINT_URL for S3-compatible servers)")
    reseal.add_argument("--to", help="the new set of analyst public keys, comma-separated (default: "
                        "ANALYST_PUBLIC_KEYS); it must include your own")
    reseal.add_argument("--dry-run", action="store_true", help="count what would be re-sealed; change nothing")

    console = commands.add_parser("console", help="the analysts' local workspace at 127.0.0.1 (your key only)")
    console.add_argument("--key", required=True, help="your private key file")
    console.add_argument("--store", help="store URL (default: STORE_URL; S3_ENDPOINT_URL for S3-compatible servers)")
    console.add_argument("--team", help="file of the team's public keys, one a line (default: ANALYST_PUBLIC_KEYS)")
    console.add_argument("--name", help="how your triage is signed in the history (default: your key id)")
    console.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    console.add_argument("--cache-dir", help="where the cache sealed to your key lives (default: ~/.cache/tipline)")
    console.add_argument("--no-cache", action="store_true", help="keep nothing on disk; decrypt everything each start")

    jobs = commands.add_parser("jobs", help="list failed jobs or re-run them (never shows payloads)")
    jobs_commands = jobs.add_subparsers(dest="jobs_command")
    jobs_commands.add_parser("list", help="failed and retrying jobs: id, job, time, exception type")
    rerun = jobs_commands.add_parser("retry", help="put failed jobs back on the queue now")
    which = rerun.add_mutually_exclusive_group(required=True)
    which.add_argument("job_id", nargs="?", help="one job id from `tipline jobs list`")
    which.add_argument("--all", action="store_true", help="every failed or retrying job")

    flows = commands.add_parser("flows", help="check or draw flow files").add_subparsers(
        dest="flows_command", required=True
    )
    check = flows.add_parser("check")
    check.add_argument("path", nargs="?", help="flow file (default: the shipped report flow)")
    diagram = flows.add_parser("diagram", help="print a Mermaid diagram of the flow")
    diagram.add_argument("path", nargs="?")
    diagram.add_argument("--out", help="write it to this file instead (.md: a Markdown page)")

    commands.add_parser("doctor", help="check a deployment before traffic: settings, Redis, store, providers, "
                        "webhooks (one line per finding; exit 1 on any problem)")

    telegram = commands.add_parser("telegram", help="Telegram bot set-up").add_subparsers(
        dest="telegram_command", required=True
    )
    telegram.add_parser("set-webhook", help="point the bot's webhook at PUBLIC_BASE_URL/webhooks/telegram")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        configure_logging()
        if args.command == "dev":
            from bot.run import run_dev

            return run_dev()
        if args.command == "serve":
            from bot.run import run_web

            return run_web()
        if args.command == "worker":
            from bot.run import run_worker

            return run_worker(burst=args.burst)
        if args.command == "scheduler":
            from bot.run import run_scheduler

            return run_scheduler()
        if args.command == "keys" and args.keys_command == "generate-followup":
            from bot.cli_followup import generate_followup_keys

            return generate_followup_keys()
        if args.command == "reports" and args.reports_command == "reseal":
            from bot.cli_reseal import reseal_command

            return reseal_command(args)
        if args.command == "reports" and args.reports_command in ("ask", "thread"):
            from bot.cli_followup import followup_command

            return followup_command(args)
        if args.command == "keys":
            from bot.cli_analyst import keys_command

            return keys_command(args)
        if args.command == "reports":
            from bot.cli_analyst import reports_command

            return reports_command(args)
        if args.command == "console":
            from bot.cli_analyst import console_command

            return console_command(args)
        if args.command == "jobs":
            from bot.cli_jobs import jobs_main

            return jobs_main(args)
        if args.command == "flows":
            from bot.cli_flows import flows_command

            return flows_command(args)
        if args.command == "doctor":  # it checks what workers rely on, with their code: `python -m workers.doctor`
            import subprocess

            return subprocess.run([sys.executable, "-m", "workers.doctor"], check=False).returncode
        if args.command == "telegram":
            from bot.cli_telegram import telegram_command

            return telegram_command(args)
    except SettingsError as exc:
        print(f"tipline: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
