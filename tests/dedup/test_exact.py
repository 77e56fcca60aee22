from dedup.exact import keep_rank, split_group


def doc(i, stars, content="x = 1\n"):
    return {"id": i, "max_stars_count": stars, "content": content, "max_stars_repo_name": f"o/{i}"}


def test_most_stars_wins_then_smallest_id():
    kept, removed = split_group([doc("b", 3), doc("a", 3), doc("c", 10)])
    assert kept["id"] == "c" and [d["id"] for d in removed] == ["a", "b"]
    kept, _ = split_group([doc("b", 3), doc("a", 3), doc("z", None)])
    assert kept["id"] == "a"


def test_null_stars_count_as_zero():
    assert keep_rank(None, "a") == keep_rank(0, "a")
    kept, _ = split_group([doc("a", None), doc("b", 1)])
    assert kept["id"] == "b"


def test_identical_rows_with_other_metadata_break_the_tie_the_same_way_in_any_order():
    """Same repo, path and content (so the same id and stars): the other fields decide, whatever the order."""
    import itertools

    rows = [{**doc("a", 3), "max_stars_repo_licenses": [licence]} for licence in ("MIT", "Apache-2.0", "BSD")]
    kept = {
        split_group(list(order))[0]["max_stars_repo_licenses"][0] for order in itertools.permutations(rows)
    }
    assert len(kept) == 1


def test_the_rank_exact_dedup_shuffles_is_small_whatever_the_metadata():
    """A 16-byte digest of the other fields, not their text: ~40 bytes of rank for a Stack row's ~600."""
    from dedup.exact import full_rank

    row = {**doc("a" * 64, 3), **{f"column_{k}": "metadata " * 10 for k in range(10)}}
    stars, doc_id, secondary = full_rank(row)
    assert (stars, doc_id) == keep_rank(3, "a" * 64) and len(secondary) == 16
