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
