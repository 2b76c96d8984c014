"""The order in which a round measures its paths.

Paths measured one after another do not see the same machine: the first of a round runs after a
pause, the later ones after the earlier ones' load (heat, page cache, a neighbour's burst). A fixed
order gives each path a fixed place and so a fixed bias; stop 31 saw one path 0.93x the other in
one order and 1.01x in the swapped one. So odd rounds go forward and even rounds backward, and over
an even count of rounds every path has had every place equally often."""


def in_order(paths, rnd):
    """paths in round rnd's order (rounds count from 1)."""
    return list(paths) if rnd % 2 else list(reversed(paths))
