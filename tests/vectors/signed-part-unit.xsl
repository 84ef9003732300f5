<?xml version="1.0" encoding="UTF-8"?>
<!--
  The part of a data file that the issuing unit signs (docs/signature.md), for
  reproduction without Python:

    xsltproc signed-part-unit.xsl signed.xml | xmllint -exc-c14n - > unit.c14n

  Copies the document except: the supervisor's Signature, the unit's SignatureValue,
  whitespace-only text nodes, comments and processing instructions (xmllint's
  exclusive canonical form keeps comments, so they are dropped here).
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:template match="@*|node()">
    <xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy>
  </xsl:template>
  <xsl:template match="text()[translate(., '&#x20;&#x9;&#xD;&#xA;', '') = '']"/>
  <xsl:template match="comment()|processing-instruction()"/>
  <xsl:template match="/EInvoice/Signatures/Signature[@Role = 'supervisor']"/>
  <xsl:template match="/EInvoice/Signatures/Signature[@Role = 'unit']/SignatureValue"/>
</xsl:stylesheet>
