"""Image-text (vision-language) models: loaders, prompt sets, and their towers as zsbench parts."""
