#!/usr/bin/env python3
"""Prints each failed test of a .trx file with the first lines of its message, for the tail of a CI log."""
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}

for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        print(f"FAILED to read {path}: {error}")
        continue
    for result in root.iterfind(".//t:UnitTestResult", NS):
        if result.get("outcome") != "Failed":
            continue
        message = result.findtext("t:Output/t:ErrorInfo/t:Message", default="", namespaces=NS).strip()
        lines = message.splitlines()[:6]
        print(f"FAILED {result.get('testName')} ({result.get('duration')})")
        for line in lines:
            print(f"    {line[:300]}")
