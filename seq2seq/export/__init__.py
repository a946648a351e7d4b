"""Our models in other runtimes: Hugging Face MarianMT and CTranslate2, and the check that an
export translates as our model does."""
