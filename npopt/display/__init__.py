"""What people see: console tables and progress (console), figures (figures, study_plots,
prior_plots) and benchmark tables and figures (benchmarks)."""
