"""`easytrain init PATH`: look at a data set and write a commented recipe for it.

inspect.py looks at the data (no torch), choose.py makes each decision with its reason, and
write.py turns the decisions into YAML with a comment above every key.
"""
