"""`easytrain init PATH`: look at a data set and write a commented recipe for it.

inspect.py looks at the data (pandas and Pillow, no torch), choose.py and media.py make each
decision with its reason (tables and training; images and texts), chat.py handles chat and
instruction files, write.py turns the decisions into YAML with a comment above every key, and
command.py ties them together and checks that the written recipe validates.
"""
