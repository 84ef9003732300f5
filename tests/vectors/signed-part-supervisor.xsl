<?xml version="1.0" encoding="UTF-8"?>
<!--
  The part of a data file that the finance supervision signature covers
  (docs/signature.md), for reproduction without Python:

    xsltproc signed-part-supervisor.xsl signed.xml | xmllint -exc-c14n - > supervisor.c14n

  Copies the document except: the supervisor's SignatureValue, whitespace-only text
  nodes, comments and processing instructions. The unit's Signature stays, value and all.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:template match="@*|node()">
    <xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy>
  </xsl:template>
  <xsl:template match="text()[translate(., '&#x20;&#x9;&#xD;&#xA;', '') = '']"/>
  <xsl:template match="comment()|processing-instruction()"/>
  <xsl:template match="/EInvoice/Signatures/Signature[@Role = 'supervisor']/SignatureValue"/>
</xsl:stylesheet>
