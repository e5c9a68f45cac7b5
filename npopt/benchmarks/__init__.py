"""The paper's experiments and our suites: problems, suites (gp1d, synthetic, mixed), images,
wheel, transfer, Optuna peers, and the experiment checkpoints they load."""
