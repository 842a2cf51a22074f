"""`easytrain tune`: hyper-parameter search with Optuna over a recipe's `tune:` section.

command.py runs a search from the command line; folder.py finds the tune folder and its study;
study.py opens the study (storage, sampler, pruner, the trial budget, crash recovery); workers.py
runs trials here or in worker processes; trial.py runs one trial as a real pipeline run; and
results.py writes study.csv, best.yaml, plots and the console table. Optuna is imported only in
this package (easytrain[tune]).
"""
