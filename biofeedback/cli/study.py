"""``biofeedback study``: within-subject studies with counterbalanced condition orders."""

from __future__ import annotations

import argparse
import json

from biofeedback.cli.common import UsageError, add_data_dir
from biofeedback.session.studies import (
    create_study,
    enrol,
    next_order,
    study_orders,
    study_to_dict,
)
from biofeedback.store.database import SessionStore
from biofeedback.store.studies import DEFAULT_EXCLUSION_THRESHOLD_PCT, Study, get_study


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, not {text!r}") from None
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be 0-100, not {text!r}")
    return value


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command and its subcommands."""
    p = commands.add_parser(
        "study",
        help="create studies, enrol participants, show condition orders",
        description="Within-subject studies: each participant enrolled gets the next order of "
        "a Williams design (balanced for first-order carry-over).",
    )
    p.set_defaults(run=_missing_subcommand)
    sub = p.add_subparsers(dest="study_command", metavar="SUBCOMMAND")

    create = sub.add_parser("create", help="create a study and print its design")
    create.add_argument("name", metavar="NAME", help="study name")
    create.add_argument(
        "--conditions",
        required=True,
        metavar="A,B[,C...]",
        help="2 to 8 condition names, comma-separated (e.g. soothing_touch,breath_focus)",
    )
    create.add_argument(
        "--exclusion-threshold",
        type=_percent,
        default=DEFAULT_EXCLUSION_THRESHOLD_PCT,
        metavar="PCT",
        help="largest %% of corrected beats in a phase before it is excluded "
        f"(default {DEFAULT_EXCLUSION_THRESHOLD_PCT:g})",
    )
    create.add_argument("--json", action="store_true", help="print JSON")
    add_data_dir(create)
    create.set_defaults(run=run_create)

    enrol_p = sub.add_parser("enrol", help="enrol a participant; prints their condition order")
    enrol_p.add_argument("name", metavar="NAME", help="study name")
    enrol_p.add_argument("participant", metavar="PARTICIPANT", help="pseudonymous id")
    enrol_p.add_argument("--json", action="store_true", help="print JSON")
    add_data_dir(enrol_p)
    enrol_p.set_defaults(run=run_enrol)

    show = sub.add_parser("show", help="conditions, orders and participants of a study")
    show.add_argument("name", metavar="NAME", help="study name")
    show.add_argument("--json", action="store_true", help="print JSON")
    add_data_dir(show)
    show.set_defaults(run=run_show)


def _missing_subcommand(args: argparse.Namespace) -> int:
    raise UsageError("say what to do: biofeedback study create|enrol|show (see --help)")


def _print_orders(study: Study) -> None:
    orders = study_orders(study)
    kind = "even" if len(study.conditions) % 2 == 0 else "odd"
    print(
        f"Williams design, {len(study.conditions)} conditions ({kind}): {len(orders)} orders, "
        "taken in turn by participants as they are enrolled"
    )
    for i, order in enumerate(orders):
        print(f"  order {i + 1:>2}: {' -> '.join(order)}")


def run_create(args: argparse.Namespace) -> int:
    """Create a study; print its design."""
    conditions = [c.strip() for c in args.conditions.split(",")]
    with SessionStore.open(args.data_dir) as store:
        # Each condition is what a session runs: refuse typos before the study exists.
        from protocols.library import get_protocol

        for condition in conditions:
            get_protocol(condition)
        study = create_study(store, args.name, conditions, args.exclusion_threshold)
    if args.json:
        print(json.dumps({"study": study_to_dict(study)}, indent=2))
        return 0
    print(f"study {study.name}: conditions {', '.join(study.conditions)}")
    print(f"exclusion threshold: {study.exclusion_threshold_pct:g} % corrected beats per phase")
    _print_orders(study)
    return 0


def run_enrol(args: argparse.Namespace) -> int:
    """Enrol a participant; print their condition order."""
    with SessionStore.open(args.data_dir) as store:
        enrolment = enrol(store, args.name, args.participant)
    if args.json:
        print(json.dumps({"enrolment": {**enrolment.to_dict(), "new": enrolment.new}}, indent=2))
        return 0
    what = "enrolled" if enrolment.new else "already enrolled"
    print(
        f"{enrolment.participant_id} {what} in {enrolment.study} "
        f"(participant {enrolment.enrol_index + 1})"
    )
    print(f"condition order: {' -> '.join(enrolment.condition_order)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print a study: conditions, orders, participants and their orders."""
    with SessionStore.open_for_reading(args.data_dir) as store:
        study = get_study(store, args.name)
    if args.json:
        print(json.dumps({"study": study_to_dict(study)}, indent=2))
        return 0
    print(f"study {study.name} (created {study.created_utc[:19]} UTC)")
    print(f"conditions: {', '.join(study.conditions)}")
    print(f"exclusion threshold: {study.exclusion_threshold_pct:g} % corrected beats per phase")
    _print_orders(study)
    if not study.participants:
        print("no participants enrolled yet")
    else:
        print(f"participants ({len(study.participants)}):")
        for e in study.participants:
            order = " -> ".join(e.condition_order)
            print(f"  {e.enrol_index + 1:>3}  {e.participant_id:<12} {order}")
    print(f"next participant gets: {' -> '.join(next_order(study))}")
    return 0
