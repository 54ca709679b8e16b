"""Tag-value hygiene: values of one list that are probably one value written differently.

``variants`` finds them (pure functions over strings), ``lookalikes`` folds the characters that
cannot be seen or look like others, ``report`` locates findings as problems of the directory,
``fix`` rewrites a values file to the suggested forms.
"""
