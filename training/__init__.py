"""Datasets (the procedural green-screen studio, real footage folders), losses and the training loop."""
