//! Every integration test in one binary: in release mode each test binary links all of
//! prunecv's dependencies, so one binary instead of one per file saves a fresh clone most of a
//! minute of compiling and linking (the README's test command builds in the release profile).

mod budgets;
mod cli;
mod common;
mod every_model;
mod exit_codes;
mod fetch;
mod fuzz;
mod graphs;
mod inputs;
mod paper;
mod pruning_effects;
mod runner;
mod schedules;
mod schema;
mod slurm;
