"""Item names from a dataset's ``.item`` file, to show beside raw item ids.

RecBole reads only the ``.inter`` columns that ``load_col`` names, so the names are read here as plain
text, never through RecBole and never executed. The name column is the first column of the ``.item``
header, other than the item id, whose field name contains ``title`` or ``name`` (ml-100k's
``movie_title:token_seq``). Without such a file or column there are no names and ids are shown alone.
"""

import os

NAME_WORDS = ("title", "name")


def item_file(config):
    """Path of the dataset's ``.item`` file (RecBole's data_path already ends in the dataset's folder)."""
    return os.path.join(config["data_path"], f"{config['dataset']}.item")


def read(config, wanted=None):
    """{raw item id: name} from the dataset's ``.item`` file; {} without a file or a name column.

    ``wanted`` (raw ids) keeps only those items, so a large catalogue costs one pass and little memory.
    """
    path = item_file(config)
    if not os.path.isfile(path):
        return {}
    separator = config["field_separator"] or "\t"
    wanted = set(wanted) if wanted is not None else None
    names = {}
    with open(path, encoding=config["encoding"] or "utf-8", errors="replace") as lines:
        fields = [column.split(":")[0] for column in next(lines, "").rstrip("\r\n").split(separator)]
        id_column, name_column = _columns(fields, config["ITEM_ID_FIELD"])
        if id_column is None or name_column is None:
            return {}
        for line in lines:
            values = line.rstrip("\r\n").split(separator)
            if len(values) <= max(id_column, name_column):
                continue
            item, name = values[id_column], values[name_column].strip()
            if name and (wanted is None or item in wanted):
                names[item] = name
    return names


def _columns(fields, id_field):
    """(index of the item id column, index of the name column); None where absent."""
    id_column = fields.index(id_field) if id_field in fields else None
    name_column = next(
        (i for i, field in enumerate(fields) if i != id_column and any(w in field.lower() for w in NAME_WORDS)),
        None,
    )
    return id_column, name_column


def label(item, names, width=None):
    """``item "name"`` when the item has a name (cut to ``width`` characters with an ellipsis), else ``item``."""
    name = names.get(item)
    if not name:
        return str(item)
    if width is not None and len(name) > width:
        name = name[: width - 1].rstrip() + "…"
    return f'{item} "{name}"'
