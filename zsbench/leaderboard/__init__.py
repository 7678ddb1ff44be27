"""``zsbench leaderboard``: tables, plots and a page from many runs' result.json + scores.npz."""
