"""Territory: the metropolis, its communes and districts, and where a point belongs."""
