"""``recbole-disen intentions``: a DisenSeqRec checkpoint's intentions as text and as a picture.

    recbole-disen intentions CHECKPOINT [--user U] [--summary] [--out PICTURE.png [--overwrite]] [--top 5] [--k 10] [--dpi 100]

``--user`` shows one user's history with p(k|i), p_i, the mass m_k and the top items of each
intention; ``--summary`` shows every test row's mean mass and top-k wins per intention. The text is
returned to the CLI, which writes it; ``--out`` also writes the picture.
"""

from pathlib import Path

from recbole_disen import intention_plot, intentions, item_names, recommend
from recbole_disen.files import folder_problem, write_bytes
from recbole_disen.errors import Parser, UserError, positive_int

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def format_user(user, names):
    """One line per history item (oldest first): p(k|i) per intention, p_i, the item; then the top items."""
    n_intents = len(user.mass)
    header = "  ".join(f"k={k:<3d}" for k in range(n_intents))
    lines = [f"user {user.user}: the {len(user.items)} items the model reads, oldest first",
             f"  {'pos':>4}  p(k|i) {header}  p_i     item"]
    for position, (item, row, weight) in enumerate(zip(user.items, user.assignment, user.importance), start=1):
        shares = "  ".join(f"{value:.3f}" for value in row)
        lines.append(f"  {position:>4}         {shares}  {weight:.3f}   {item_names.label(item, names)}")
    lines.append("  mass m_k: " + "  ".join(f"k={k} {m:.3f}" for k, m in enumerate(user.mass)))
    lines.append("top items of each intention, by <phi_k, e_j>:")
    for k, (items, mass) in enumerate(zip(user.top_items, user.mass)):
        lines.append(f"  intention {k} (m = {mass:.3f})")
        lines += [f"    {rank}. {item_names.label(item, names)}  {score:.4f}"
                  for rank, (item, score) in enumerate(items, start=1)]
    return "".join(line + "\n" for line in lines)


def format_summary(summary, dataset_name):
    """One line per intention: mean assignment mass and share of top-k wins over the test rows."""
    lines = [f"dataset {dataset_name}: {summary.rows} test rows",
             f"  intention  mean mass  top-{summary.k} wins"]
    lines += [f"  k={k:<7d}  {mass:9.3f}  {wins:{len(str(summary.k)) + 9}.3f}"
              for k, (mass, wins) in enumerate(zip(summary.mass, summary.wins))]
    return "".join(line + "\n" for line in lines)


def parse_args(argv):
    """The intentions command's arguments."""
    parser = Parser(
        prog="recbole-disen intentions",
        description="Show a DisenSeqRec checkpoint's intentions: one user's and/or a whole dataset's.",
    )
    parser.add_argument("checkpoint", help="a DisenSeqRec .pth checkpoint written by recbole-disen")
    parser.add_argument("--user", default=None, help="a user id as in the .inter file")
    parser.add_argument("--summary", action="store_true", help="mean mass and top-k wins over all test rows")
    parser.add_argument("--out", default=None, help="also write the picture to this .png file")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it is an existing PNG picture")
    parser.add_argument("--top", type=positive_int, default=5, help="top items shown per intention (default 5)")
    parser.add_argument("--k", type=positive_int, default=10, help="length of each test row's top list for --summary (default 10)")
    parser.add_argument("--dpi", type=int, default=100, help="picture resolution, dots per inch (default 100)")
    parser.add_argument("--data_path", default=None,
                        help="folder holding the dataset's folder (default: the one it was trained from)")
    args = parser.parse_args(argv)
    if args.user is not None:
        args.user = args.user.strip()  # as recommend reads --users
        if not args.user:
            raise UserError("--user needs a user id, e.g. --user u1")
    if args.user is None and not args.summary:
        raise UserError("say what to show: --user U, --summary, or both")
    if args.overwrite and args.out is None:
        raise UserError("--overwrite replaces the --out picture: give --out PICTURE.png, or leave --overwrite out")
    if args.out is not None:
        check_out(Path(args.out), args.overwrite)
    if not 20 <= args.dpi <= 600:
        raise UserError(f"--dpi must be between 20 and 600, got {args.dpi}")
    return args


def check_out(path, overwrite=False):
    """--out must name a .png file; an existing file is replaced only when asked (``overwrite``) and only if
    it is a PNG picture itself; its folder is checked now, so that a place the picture cannot go fails before
    the work rather than after it (the folder itself is made only when the picture is written, so a failed
    command leaves none behind)."""
    if path.suffix.lower() != ".png":
        raise UserError(f"--out must end in .png, got {path}")
    if path.is_dir():
        raise UserError(f"--out {path} is a folder: give a file name ending in .png")
    if path.exists():
        with open(path, "rb") as f:
            if f.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                raise UserError(f"--out {path} exists and is not a PNG picture: choose another name, it is left as it is")
        if not overwrite:
            raise UserError(f"--out {path} exists: add --overwrite to replace it, or choose another name")
    problem = folder_problem(path.absolute().parent)
    if problem:
        raise UserError(f"--out {path.absolute().parent}: {problem}; choose another place")


def run(argv):
    """The text the CLI writes; writes the picture when --out is given."""
    args = parse_args(argv)
    config, dataset, model, test_data = recommend.load_model(args.checkpoint, args.data_path)
    intentions.require_disen(model)
    user = intentions.user_intentions(model, dataset, test_data, args.user, args.top) if args.user is not None else None
    summary = intentions.dataset_intentions(model, test_data, args.k) if args.summary else None
    shown = [] if user is None else user.items + [item for items in user.top_items for item, _ in items]
    names = item_names.read(config, wanted=shown)
    text = (format_user(user, names) if user else "") + (format_summary(summary, config["dataset"]) if summary else "")
    if args.out is not None:
        picture = intention_plot.render(user=user, summary=summary, names=names, dataset_name=config["dataset"],
                                         dpi=args.dpi)
        write_bytes(Path(args.out), picture)
        text += f"picture: {args.out}\n"
    return text
