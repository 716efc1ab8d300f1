"""The HTML report's inline style and script, and the Content-Security-Policy that admits exactly them.

The page loads nothing: ``default-src 'none'`` forbids every fetch, inline styles are allowed, and the one
inline script runs only because its SHA-256 is in ``script-src`` (a script injected through a value, were
escaping ever to fail, would not run). The script only filters table rows; without it the page is complete.
"""

from __future__ import annotations

import base64
import hashlib

STYLE = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--panel:#f6f8fa;
--ok:#116329;--ok-bg:#dafbe1;--bad:#a40e26;--bad-bg:#ffebe9;--warn:#7d4e00;--warn-bg:#fff8c5;--link:#0550ae}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;
--panel:#151b23;--ok:#56d364;--ok-bg:#0f2a17;--bad:#ff8e86;--bad-bg:#3a1216;--warn:#e3b341;--warn-bg:#2e2410;
--link:#79c0ff}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",
Roboto,"Noto Sans",sans-serif;overflow-wrap:break-word}
header,main,footer{max-width:78rem;margin:0 auto;padding:0 1rem}
header{padding-top:1rem}
h1{font-size:1.5rem;margin:.25rem 0}
h2{font-size:1.2rem;margin:1.75rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1rem 0 .5rem}
a{color:var(--link)}
code{font:.85em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere;
word-break:break-word}
.banner{border:2px solid;border-radius:6px;padding:.75rem 1rem;margin:1rem 0}
.banner h2{border:0;margin:0 0 .25rem;padding:0;font-size:1.3rem}
.banner p{margin:.25rem 0}
.banner.ok{border-color:var(--ok);background:var(--ok-bg)}
.banner.failed{border-color:var(--bad);background:var(--bad-bg)}
.banner.claim{border-color:var(--warn);background:var(--warn-bg)}
.banner.ok h2{color:var(--ok)}
.banner.failed h2{color:var(--bad)}
nav ul{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
dl{display:grid;grid-template-columns:minmax(8rem,max-content) minmax(0,1fr);gap:.25rem 1rem;margin:.5rem 0}
dt{color:var(--muted)}
dd{margin:0;min-width:0}
table{width:100%;border-collapse:collapse;margin:.5rem 0}
caption{text-align:left;color:var(--muted);padding:.25rem 0}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line);
overflow-wrap:break-word}
td code{overflow-wrap:anywhere}
th{background:var(--panel);overflow-wrap:normal;word-break:normal}
td ul{margin:0;padding-left:1rem}
.chunk{content-visibility:auto;contain-intrinsic-size:auto 9000px}
.chunk+.chunk table{margin-top:0}
.chunk+.chunk thead tr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.st{font-weight:600;white-space:nowrap}
.st-passed,.st-same,.st-held{color:var(--ok)}
.st-failed,.st-violated,.st-differs{color:var(--bad)}
.st-warning,.st-not-replayed{color:var(--warn)}
.st-not-run,.st-skipped,.st-advisory{color:var(--muted)}
.filter{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin:.5rem 0}
.filter input{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--muted);
border-radius:4px;padding:.3rem .5rem;min-width:0;flex:1 1 12rem;max-width:30rem}
.muted,footer{color:var(--muted)}
footer{padding-bottom:2rem;margin-top:2rem;border-top:1px solid var(--line)}
[hidden]{display:none!important}
@media (max-width:40rem){
 dl{grid-template-columns:minmax(0,1fr)}
 dd{margin-bottom:.4rem}
 table,thead,tbody,tr,th,td{display:block}
 thead tr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
 tr{border-bottom:1px solid var(--line);padding:.35rem 0}
 td{border:0;padding:.1rem 0}
 td::before{color:var(--muted);font-family:system-ui,sans-serif}
}
@media print{
 @page{size:A4;margin:14mm 12mm}
 :root{--bg:#fff;--fg:#000;--muted:#444;--line:#999;--panel:#eee;--ok:#0a4d1f;--ok-bg:#fff;--bad:#8a0b1f;
 --bad-bg:#fff;--warn:#5c3a00;--warn-bg:#fff;--link:#000}
 body{font-size:9pt}
 header,main,footer{max-width:none;padding:0}
 nav,.filter{display:none!important}
 tr[hidden]{display:table-row!important}
 .chunk{content-visibility:visible}
 .chunk[hidden]{display:block!important}
 tr,dt,dd,.banner{break-inside:avoid}
 h2,h3{break-after:avoid}
}
"""

SCRIPT = """
(function(){
  "use strict";
  var boxes=document.querySelectorAll("input[data-filter]");
  Array.prototype.forEach.call(boxes,function(box){
    var list=document.getElementById(box.getAttribute("data-filter"));
    var count=document.getElementById(box.getAttribute("data-count"));
    if(!list||!count){return;}
    var rows=list.querySelectorAll("tbody tr"), chunks=list.querySelectorAll(".chunk");
    var texts=null, pending=false;
    box.parentNode.hidden=false;
    function apply(){
      pending=false;
      if(texts===null){
        texts=new Array(rows.length);
        for(var i=0;i<rows.length;i++){texts[i]=rows[i].textContent.toLowerCase();}
      }
      var words=box.value.toLowerCase().split(/\\s+/).filter(Boolean), shown=0;
      for(var j=0;j<rows.length;j++){
        var hit=true;
        for(var k=0;k<words.length;k++){if(texts[j].indexOf(words[k])<0){hit=false;break;}}
        if(rows[j].hidden===hit){rows[j].hidden=!hit;}
        if(hit){shown++;}
      }
      for(var c=0;c<chunks.length;c++){
        var empty=!chunks[c].querySelector("tbody tr:not([hidden])");
        if(chunks[c].hidden!==empty){chunks[c].hidden=empty;}
      }
      count.textContent=words.length?shown+" of "+rows.length+" shown":rows.length+" in all";
    }
    box.addEventListener("input",function(){
      if(!pending){pending=true;window.requestAnimationFrame(apply);}
    });
    count.textContent=rows.length+" in all";
  });
})();
"""


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_sha256(SCRIPT)}'; img-src 'none'; base-uri 'none'; form-action 'none'"
)
