"""``biofeedback simulate-study``: a study of simulated participants with a known effect."""

from __future__ import annotations

import argparse
import json
import secrets
import sys

from biofeedback.cli.common import add_data_dir
from biofeedback.store.database import SessionStore


def _whole(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def _number(text: str) -> float:
    """A finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, not {text!r}")
    return value


def _seed(text: str) -> int:
    """A non-negative whole number."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text!r}")
    return value


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "simulate-study",
        help="create a study of simulated participants with a known effect",
        description="Create a within-subject study comparing a self-soothing and an attention "
        "practice, and record simulated participants (realistic between-person variation, "
        "breathing differences and artifacts) whose lnRMSSD is higher during the "
        "self-soothing practice by a known amount. The ground truth is stored with the study "
        "and its sessions. For validating analyses and for power analysis.",
    )
    p.add_argument("name", metavar="NAME", help="name of the new study")
    p.add_argument("--participants", type=_whole, required=True, metavar="N",
                   help="number of simulated participants")
    p.add_argument("--effect-ln-rmssd", type=_number, required=True, metavar="D",
                   help="mean true effect: lnRMSSD self-soothing minus attention practice")
    p.add_argument("--effect-sd", type=_number, default=0.1, metavar="SD",
                   help="between-person SD of the effect, ln units (default 0.1)")
    p.add_argument("--seed", type=_seed, default=None, metavar="S",
                   help="seed of everything (default: a random seed, reported in the output)")
    p.add_argument("--sessions", type=_whole, default=1, metavar="K",
                   help="sessions (visits) per participant (default 1)")
    p.add_argument("--self-soothing", default="soothing_touch", metavar="P",
                   help="self-soothing practice id (default soothing_touch)")
    p.add_argument("--attention", default="mindfulness_of_breathing", metavar="P",
                   help="attention practice id (default mindfulness_of_breathing)")
    p.add_argument("--design", choices=("practice_comparison", "separate"),
                   default="practice_comparison",
                   help="both practices in one session (default) or one session each")
    p.add_argument("--duration-scale", type=_number, default=1.0, metavar="F",
                   help="multiply every phase's duration by F, up to 4 (default 1)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Simulate the study; print its name and session ids (or the JSON summary)."""
    from biofeedback.simulation.study import simulate_study

    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)

    def progress(i: int, n: int) -> None:
        if not args.quiet:
            print(f"participant {i}/{n}...", file=sys.stderr, flush=True)

    with SessionStore.open(args.data_dir) as store:
        sim = simulate_study(
            store, args.name, participants=args.participants,
            effect_ln_rmssd=args.effect_ln_rmssd, seed=seed,
            self_soothing=args.self_soothing, attention=args.attention,
            sessions_per_participant=args.sessions, design=args.design,
            progress=progress, duration_scale=args.duration_scale, effect_sd=args.effect_sd,
        )
    if args.json:
        print(json.dumps(sim.to_dict(), indent=2))
    else:
        ids = sim.session_ids
        print(f"study {sim.name}: {len(sim.participants)} participants, {len(ids)} sessions "
              f"(seed {seed}; mean true effect {sim.mean_true_effect:+.3f} lnRMSSD)")
        print("sessions: " + " ".join(str(i) for i in ids))
    return 0
