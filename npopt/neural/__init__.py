"""The Neural Process: the model (model, context, fit), its priors and tasks, training, checkpoints and fine-tuning."""
