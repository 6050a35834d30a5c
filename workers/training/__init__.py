"""Training for VILA-layout checkpoints: synthetic scenes, LLaVA-style datasets, the three-stage recipe.

``scenes`` renders seeded synthetic camera clips; ``data`` reads LLaVA-style JSON
datasets; ``recipe`` names the stages and their freezing rules; ``trainer`` runs
them through the runtime's own loader and embedding splice; ``evaluate`` scores
a checkpoint on held-out scenes.
"""
